"""WikiArt (Kaggle "Painter by Numbers") as a TFDS dataset: importing this registers the `wikiart` builder."""

from adain.datasets.wikiart.wikiart_dataset_builder import Builder

__all__ = ["Builder"]
