"""mmengine hooks of mmdiffrep (registered in ``mmdiffrep.registry.HOOKS``)."""
from .ddpm_sample_hook import DDPMSampleHook
from .finite_loss_hook import FiniteLossHook
from .random_state_hook import RandomStateHook
from .repfusion_hook import RepFusionHook
from .timestep_policy_hooks import EntropyDecayHook, TimestepPolicyVisHook

__all__ = ['DDPMSampleHook', 'EntropyDecayHook', 'FiniteLossHook', 'RandomStateHook', 'RepFusionHook',
           'TimestepPolicyVisHook']
