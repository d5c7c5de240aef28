from rest_framework import serializers


class CurrentOrganizationOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    domain = serializers.CharField()
    role = serializers.CharField(help_text="The requesting user's organisation role.")
    time_zone = serializers.CharField(help_text="IANA time zone; reports read dates in it.")
    language = serializers.CharField(help_text="Default language of emails for people who chose none (en, ru).")
    created_at = serializers.DateTimeField()


class OrganizationUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    time_zone = serializers.CharField(max_length=64, required=False, help_text="IANA name, e.g. Europe/Berlin.")
    language = serializers.CharField(max_length=8, required=False, help_text="en or ru.")


class SignupInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    organization_name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=40, help_text="The organisation's address: <slug>.<BASE_DOMAIN>.")


class SignupOutputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    organization = serializers.CharField(help_text="The organisation's name.")
    url = serializers.URLField(help_text="Where the organisation lives once the email is verified.")
    email_verification_sent = serializers.BooleanField()


class UserOrganizationOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    url = serializers.URLField()
    role = serializers.CharField()
