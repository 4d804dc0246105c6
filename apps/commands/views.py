"""Where stations upload the diagnostics and logs an operator asked for (GetDiagnostics / GetLog).

The URL carries the command's secret token, so only the station that got it can upload; the brand comes from the
host. Stations upload with HTTP POST (multipart, as most do) or PUT (the raw file). FTP is not offered.
"""

import logging
import re
import tempfile

from django.conf import settings
from django.core.files import File
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from apps.commands.models import Command
from apps.commands.services import UPLOADING_OPERATIONS, station_file_store

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(request, token: str, given: str = "") -> str:
    disposition = request.headers.get("Content-Disposition", "")
    match = re.search(r'filename="?([^";]+)"?', disposition)
    name = SAFE_NAME.sub("_", (given or (match.group(1) if match else "")).rsplit("/", 1)[-1]).strip("._")
    return name or f"upload-{token[:8]}.bin"


@csrf_exempt
def station_upload(request, token: str):
    if request.method not in ("POST", "PUT"):
        return HttpResponseNotAllowed(["POST", "PUT"])
    command = get_object_or_404(Command, token=token, operation__in=UPLOADING_OPERATIONS)
    limit = settings.STATION_UPLOAD_MAX_BYTES
    declared = int(request.headers.get("Content-Length") or 0)
    if declared > limit:
        return HttpResponse(f"The file is larger than {limit} bytes.", status=413, content_type="text/plain")
    if request.content_type == "multipart/form-data":
        if not request.FILES:
            return HttpResponse("No file in the form.", status=400, content_type="text/plain")
        upload = next(iter(request.FILES.values()))
        stored = station_file_store(
            command=command,
            name=_file_name(request, token, upload.name),
            content=upload,
            size=upload.size,
            content_type=upload.content_type or "",
        )
    else:
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
            size = 0
            while chunk := request.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    return HttpResponse(
                        f"The file is larger than {limit} bytes.", status=413, content_type="text/plain"
                    )
                spool.write(chunk)
            spool.seek(0)
            stored = station_file_store(
                command=command,
                name=_file_name(request, token),
                content=File(spool),
                size=size,
                content_type=request.content_type or "",
            )
    logger.info(
        "station %s uploaded %s (%s bytes) for command %s", command.station_id, stored.name, stored.size, command.pk
    )
    return HttpResponse(status=201)
