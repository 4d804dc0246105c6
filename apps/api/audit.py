"""The audit log over the API: privileged actions of this brand, newest first, for owners' and admins' tools."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from apps.accounts.models import AuditEntry
from apps.accounts.selectors import audit_entry_list
from apps.api.models import Scope
from apps.api.pagination import paginated
from apps.api.schema import CURSOR_PARAMETERS, page_of


class AuditActorOutput(serializers.Serializer):
    kind = serializers.ChoiceField(source="actor_kind", choices=AuditEntry.ActorKind.choices)
    user_id = serializers.IntegerField(
        source="actor_user_id", allow_null=True, help_text="The person, also when acting through an application"
    )
    client_id = serializers.CharField(source="actor_client_id", help_text="The API client (key:…, oauth:…), or empty")
    label = serializers.CharField(source="actor_label")


class AuditEntryOutput(serializers.ModelSerializer):
    actor = AuditActorOutput(source="*", read_only=True, help_text="Who acted")

    class Meta:
        model = AuditEntry
        fields = ("id", "at", "actor", "action", "target_type", "target_id", "target_label", "changes", "ip_address")
        read_only_fields = fields
        extra_kwargs = {
            "action": {"help_text": "What was done, e.g. user.role_changed, command.sent, tariff.changed"},
            "target_type": {"help_text": "The kind of object acted on, as app_label.model"},
            "changes": {"help_text": 'What changed, mostly {"field": [before, after]}'},
        }


class AuditLogApi(APIView):
    required_scopes = [Scope.AUDIT_READ]

    class FilterInput(serializers.Serializer):
        action = serializers.CharField(
            required=False, max_length=64, help_text='One action code, or a prefix ending in "." (tariff.)'
        )
        actor = serializers.RegexField(
            r"^(system|\d+|(key|oauth):[\w.\-]+)$",
            required=False,
            max_length=120,
            help_text="A user id, an API client id (key:<prefix>, oauth:<client_id>) or system",
        )
        since = serializers.DateTimeField(required=False, help_text="At or after (ISO 8601)")
        until = serializers.DateTimeField(required=False, help_text="Before (ISO 8601)")

        def validate(self, data):
            if data.get("since") and data.get("until") and data["since"] >= data["until"]:
                raise serializers.ValidationError({"until": ["Must be after since."]})
            return data

    @extend_schema(parameters=[FilterInput, *CURSOR_PARAMETERS], responses=page_of(AuditEntryOutput))
    def get(self, request):
        """Newest first. Needs a role that reads the audit log (owner, admin) when a person's token calls."""
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        entries = audit_entry_list(**filters.validated_data)
        return paginated(request, self, entries, AuditEntryOutput, ordering="-id")
