"""sk-dmlpl: deep metric learning based pseudo-labeling for class-imbalanced semi-supervised learning."""

from ._classifier import DMLPLClassifier
from ._network import MLPEncoder

__all__ = ["DMLPLClassifier", "MLPEncoder", "__version__"]
__version__ = "0.2.0.dev0"
