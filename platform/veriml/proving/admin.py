from django.contrib import admin

from veriml.proving.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "organisation", "model", "attempts", "created_at"]
    list_filter = ["status", "kind", "organisation"]
    search_fields = ["id", "idempotency_key"]
    readonly_fields = [field.name for field in Job._meta.fields]
