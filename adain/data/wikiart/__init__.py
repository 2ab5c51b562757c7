"""WikiArt (Kaggle "Painter by Numbers") as a TFDS dataset: importing this registers the `wikiart` builder."""

from adain.data.wikiart.wikiart_dataset_builder import Builder

__all__ = ["Builder"]
