from django.contrib import admin

from veriml.accounts.models import ApiKey, AuditorGrant, Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    exclude = ["callback_secret"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name", "prefix", "organisation", "scopes", "expires_at", "last_used_at", "revoked_at",
    ]  # fmt: skip
    list_filter = ["organisation"]
    readonly_fields = ["prefix", "secret_hash", "created_at", "last_used_at", "revoked_at"]


@admin.register(AuditorGrant)
class AuditorGrantAdmin(admin.ModelAdmin):
    list_display = ["organisation", "auditor_organisation", "auditor_user", "created_at"]
    list_filter = ["organisation"]
