from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ModelSerializer
from reviews.models import Review
from reviews.services import RATING_MAX, RATING_MIN


class ReviewSerializer(ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "doctor", "appointment", "rating", "comment", "author", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_author(self, review: Review) -> str:
        # A first name and an initial: enough to feel real, not enough to identify.
        user = review.patient.user
        initial = f" {user.last_name[:1]}." if user.last_name else ""
        return f"{user.first_name}{initial}".strip() or "A patient"


class ReviewCreateInput(serializers.Serializer):
    appointment = serializers.IntegerField(min_value=1)
    rating = serializers.IntegerField(min_value=RATING_MIN, max_value=RATING_MAX)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
