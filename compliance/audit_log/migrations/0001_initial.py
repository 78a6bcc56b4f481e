from django.db import migrations, models

import compliance.audit_log.chain

TABLES = ("audit_log_auditentry", "audit_log_auditcheckpoint")

CREATE_SQL = """
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

DROP_SQL = "DROP FUNCTION IF EXISTS audit_log_refuse_change() CASCADE;"


def refuse_changes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_SQL, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();"
        )


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.BigIntegerField(default=0)),
                ("hash", models.CharField(default=compliance.audit_log.chain.GENESIS_HASH, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.BigIntegerField(unique=True)),
                ("time", models.DateTimeField()),
                ("actor", models.CharField(max_length=100)),
                ("organisation", models.BigIntegerField(blank=True, null=True)),
                ("action", models.CharField(max_length=64)),
                ("target_type", models.CharField(max_length=64)),
                ("target_id", models.CharField(max_length=100)),
                ("details", models.JSONField(default=dict)),
                ("region", models.CharField(blank=True, max_length=32, null=True)),
                ("previous_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64)),
            ],
            options={"ordering": ["sequence"], "verbose_name_plural": "audit entries"},
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.BigIntegerField()),
                ("head_hash", models.CharField(max_length=64)),
                ("time", models.DateTimeField()),
                ("signature", models.CharField(max_length=100)),
            ],
            options={"ordering": ["sequence", "time"]},
        ),
        migrations.RunPython(refuse_changes, allow_changes),
    ]
