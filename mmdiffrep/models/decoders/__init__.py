from .code_decoder import CodeDecoder

__all__ = ['CodeDecoder']
