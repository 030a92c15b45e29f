"""Timestep selection for distillation teachers: fixed, uniform, learned (REINFORCE)."""
from .learned_policy import LearnedTimestepPolicy
from .timestep_samplers import FixedTimesteps, TimestepSampler, UniformTimesteps

__all__ = ['TimestepSampler', 'FixedTimesteps', 'UniformTimesteps', 'LearnedTimestepPolicy']
