from django.contrib import admin

from veriml.registry.models import Dataset, RegisteredModel


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "organisation", "status", "digest", "created_at"]
    list_filter = ["status", "organisation"]
    search_fields = ["name", "digest"]
    readonly_fields = [field.name for field in RegisteredModel._meta.fields]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "status", "samples", "classes", "created_at"]
    list_filter = ["status", "organisation"]
    search_fields = ["name"]
    readonly_fields = [field.name for field in Dataset._meta.fields]
