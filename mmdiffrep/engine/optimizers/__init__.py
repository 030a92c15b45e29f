from .parts_constructor import PartsOptimWrapperConstructor

__all__ = ['PartsOptimWrapperConstructor']
