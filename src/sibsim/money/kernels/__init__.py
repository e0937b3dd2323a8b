"""numba kernels of the money layer: grouped array inputs in, grouped arrays out.

Kernels take ``typing.NamedTuple`` groups of arrays and scalars (built by the specification
objects' lowering methods) and enum codes passed as ``int``; they know nothing of the
specification classes.
"""
