"""What Lambda hands the functions: API Gateway proxy events, authorizer and stream events,
and the context object. Standard library only.

Two fresh interpreters use it before they load the app. The cold-start
child (``bench.coldstart_child``) may import nothing but the standard
library before what it measures. The package check
(``devtools/lambda_package.py``) runs from the unzipped deployment package
with ``python -I -S``, where neither ``bench`` nor ``devtools`` can be
imported, so it loads this file by its path. Keep it to the standard
library, and importing nothing else.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "abcdef1234"
API_STAGE = "api"
FUNCTION = "movie-listing-api-dev"
CLIENT_ADDRESS = "203.0.113.9"
USER_AGENT = "curl/8.5.0"


class LambdaContext:
    """The attributes of a Lambda context object a handler may read."""

    function_name = FUNCTION
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
    log_group_name = f"/aws/lambda/{FUNCTION}"
    log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def proxy_event(
    method: str,
    resource: str,
    path: str | None = None,
    *,
    body: str | None = None,
    content_type: str = "application/json",
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as API Gateway sends one to the API function.

    ``resource`` is the route as declared (``/movies/{movie_id}``), ``path``
    the one requested (``/movies/42``; by default ``resource``): the path
    parameters are read from the two. ``authorizer`` is what the authorizer
    answered (its context and ``principalId``), for an authenticated route.
    """
    path = path or resource
    values = dict(zip(resource.split("/"), path.split("/"), strict=True))
    parameters = {name[1:-1]: value for name, value in values.items() if name.startswith("{")}
    host = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    headers = {
        "Accept": "application/json",
        "Host": host,
        "User-Agent": USER_AGENT,
        "X-Forwarded-For": CLIENT_ADDRESS,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        headers["Content-Type"] = content_type
    context: dict[str, Any] = {
        "resourceId": "a1b2c3",
        "resourcePath": resource,
        "httpMethod": method,
        "requestTimeEpoch": int(time.time() * 1000),
        "path": f"/{API_STAGE}{path}",
        "accountId": ACCOUNT,
        "protocol": "HTTP/1.1",
        "stage": API_STAGE,
        "domainPrefix": API_ID,
        "requestId": str(uuid.uuid4()),
        "identity": {"sourceIp": CLIENT_ADDRESS, "userAgent": USER_AGENT},
        "domainName": host,
        "apiId": API_ID,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": False,
    }


def token_event(token: str) -> dict[str, str]:
    """What API Gateway sends a TOKEN authorizer for a request bearing ``token``."""
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{API_STAGE}/GET/users/me",
    }


def removal_event(keys: dict[str, Any], old_image: dict[str, Any], table: str) -> dict[str, Any]:
    """A stream batch of one item's removal, as the event source mapping delivers it.

    ``keys`` and ``old_image`` are in DynamoDB's wire format
    (``{"pk": {"S": ...}}``); the table's stream shows old images.
    """
    record = {
        "eventID": "1",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": keys,
            "OldImage": old_image,
            "SequenceNumber": "100000000000000000001",
            "SizeBytes": 64,
            "StreamViewType": "OLD_IMAGE",
        },
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/x",
    }
    return {"Records": [record]}
