"""mmdiffrep models: backbones, necks, algorithms, losses (registered in ``mmdiffrep.registry``)."""
