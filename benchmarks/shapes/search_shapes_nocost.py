# The shapes benchmark's search without its FLOPs term (benchmarks/shapes/run.sh, VARIANT=nocost):
# benchmarks/shapes/search_shapes.py (the template's defaults) with model.space.cost off, so that what
# the cells are chosen by is the detector's loss alone. The template's term (weight 0.1) makes the
# cells cheap -- 5 to 7 of the 8 genes of each reduction cell parameter-free -- and a cheap cell only
# has to beat random cells of its cost; without the term, the question is whether the detector's
# gradient alone picks cells better than uniform random ones.
_base_ = './search_shapes.py'

model = dict(space=dict(cost=None))
