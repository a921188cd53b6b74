# DARTS second order (``--unrolled`` in the reference): the architecture gradient goes through a
# virtual weight step, with DARTS' finite-difference Hessian-vector product (r = 1e-2);
# hvp='exact' computes the product by double backward instead.
_base_ = './darts_cifar.py'

model = dict(unrolled=True, hvp='finite_difference', hvp_r=1e-2)
