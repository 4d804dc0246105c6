"""Issued CDRs cannot be changed or deleted, not even by a queryset update or raw SQL: a trigger refuses it.

The function lives in the public schema (shared by every tenant schema; cloning a schema copies the trigger, which
names the function with its schema). TRUNCATE (tests, schema drops) does not fire row triggers.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION public.billing_cdr_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'CDR % was issued: CDRs are immutable, correct them with a credit CDR', OLD.cdr_id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
DROP TRIGGER IF EXISTS billing_cdr_immutable ON billing_cdr;
CREATE TRIGGER billing_cdr_immutable BEFORE UPDATE OR DELETE ON billing_cdr
    FOR EACH ROW EXECUTE FUNCTION public.billing_cdr_immutable();
"""

DROP = "DROP TRIGGER IF EXISTS billing_cdr_immutable ON billing_cdr;"


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_cdrs_invoices")]

    operations = [migrations.RunSQL(CREATE, DROP)]
