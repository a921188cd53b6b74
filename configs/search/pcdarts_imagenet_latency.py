# Latency-aware PC-DARTS: the ImageNet-subset recipe plus a differentiable latency term in
# the architecture loss (FBNet-style lookup table: each candidate op, as the derived network
# has it, timed at batch 1 at its edge's resolution). The table is measured on `device` the
# first time and kept in `latency_table`; to search for another device, measure there
# (tools/analysis/latency_table.py THIS_CONFIG --out lat.json) and bring the file (a table
# for a device this machine cannot run must be complete). weight=0 is plain PC-DARTS.
_base_ = './pcdarts_imagenet.py'

model = dict(space=dict(cost=dict(metric='latency', weight=0.1, input_size=224, device='cpu',
                                  batch=1, latency_table='work_dirs/latency_cpu_b1.json')))
