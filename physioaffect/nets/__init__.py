"""Neural network models (PyTorch modules).

The published models (HiSTN, RBTransformer, the multitask EDA PINN, the sleep 1D vision transformer
and the cross-modal distillation students) live here, one module per model. Importing this package
does not import torch; each model module does.
"""

__all__: list[str] = []
