from rest_framework import serializers


class ClinicSettingSerializer(serializers.Serializer):
    key = serializers.CharField()
    type = serializers.ChoiceField(choices=["int", "decimal", "str", "bool", "timezone", "int_list"])
    value = serializers.JSONField()
    default = serializers.JSONField()
    help = serializers.CharField()
    public = serializers.BooleanField()
    min_value = serializers.IntegerField(allow_null=True)
    max_value = serializers.IntegerField(allow_null=True)


class ClinicSettingInput(serializers.Serializer):
    # Any JSON value: the setting's registered type decides what is valid.
    value = serializers.JSONField()
