from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from veriml.verification.serializers import VerdictSerializer, VerifyRequestSerializer
from veriml.verification.services import verify_proof_bytes


class VerifyView(APIView):
    """Anyone may verify a proof: no account is needed, and requests are rate-limited."""

    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Verify a proof file (no account needed; rate-limited)",
        request={"multipart/form-data": VerifyRequestSerializer},
        responses={200: VerdictSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        form = VerifyRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["proof"]
        upload.seek(0)
        verdict = verify_proof_bytes(
            upload.read(),
            form.validated_data.get("model_digest"),
            form.validated_data.get("dataset_digest"),
        )
        return Response(VerdictSerializer(verdict).data)
