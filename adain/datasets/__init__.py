"""Where training images come from: image folders, TFDS datasets (COCO, our WikiArt builder), robust decoding.

`adain.data` assembles these into the tf.data training pipeline.
"""
