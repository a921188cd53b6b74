# DARTS second order (``--unrolled`` in the reference): the architecture gradient
# goes through a virtual weight step, with a finite-difference Hessian-vector product.
_base_ = './darts_cifar.py'

model = dict(unrolled=True)
