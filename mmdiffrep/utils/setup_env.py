"""Register mmdiffrep's modules and set the default scope, the mmengine way."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmdiffrep module that registers a component.

    Not needed when configs name components as ``type='mmdiffrep.Name'`` (the registries'
    ``locations`` import them lazily); useful for scripts and tests that build by bare name.

    Args:
        init_default_scope: also make ``mmdiffrep`` the default scope (if another scope is the
            current default, a new uniquely named ``mmdiffrep`` scope instance is created).

    Example:
        >>> from mmdiffrep.utils import register_all_modules
        >>> register_all_modules()
    """
    import mmdiffrep.datasets  # noqa: F401
    import mmdiffrep.engine  # noqa: F401
    import mmdiffrep.models  # noqa: F401

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('mmdiffrep'))
    if never_created:
        DefaultScope.get_instance('mmdiffrep', scope_name='mmdiffrep')
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != 'mmdiffrep':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "mmdiffrep"; '
                      '`register_all_modules` creates a new default scope "mmdiffrep".')
        name = f'mmdiffrep-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='mmdiffrep')
