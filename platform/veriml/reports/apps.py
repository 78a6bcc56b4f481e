from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "veriml.reports"
    label = "reports"
    verbose_name = "Auditor reports"
