from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loopcrm.core"
    label = "core"
    verbose_name = "LoopCRM core"
