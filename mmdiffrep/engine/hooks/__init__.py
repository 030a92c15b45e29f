"""mmengine hooks of mmdiffrep (registered in ``mmdiffrep.registry.HOOKS``)."""
from .ddpm_sample_hook import DDPMSampleHook

__all__ = ['DDPMSampleHook']
