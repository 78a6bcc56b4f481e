from django.contrib import admin

from veriml.accounts.models import ApiKey, Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "organisation", "scopes", "expires_at", "last_used_at"]
    list_filter = ["organisation"]
    readonly_fields = ["prefix", "secret_hash", "created_at", "last_used_at"]
