"""Where training images come from: image folders, TFDS datasets (COCO, our WikiArt builder), robust decoding.

`adain.data.pipeline` assembles these into the tf.data training pipeline.
"""
