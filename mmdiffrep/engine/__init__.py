"""mmdiffrep engine components: hooks and training-loop pieces (``mmdiffrep.registry.HOOKS``)."""
