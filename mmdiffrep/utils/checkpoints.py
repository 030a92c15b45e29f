"""Reading mmengine training checkpoints."""


def ema_weights(checkpoint: dict, hint: str = '') -> dict:
    """The EMAHook's averaged weights of an mmengine ``checkpoint``, keyed like the model's own
    ``state_dict`` (mmengine's ``ExponentialMovingAverage`` stores them under ``module.``).

    Example:
        >>> model.load_state_dict(ema_weights(torch.load(path)))  # doctest: +SKIP
    """
    if 'ema_state_dict' not in checkpoint:
        raise KeyError('the checkpoint has no ema_state_dict (trained without EMAHook?)'
                       + (f'; {hint}' if hint else ''))
    return {k[len('module.'):]: v for k, v in checkpoint['ema_state_dict'].items()
            if k.startswith('module.')}
