"""The NinjaAPI: authentication, error mapping (RFC 9457) and every domain's router under /api/v1/."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from loopcrm import __version__
from loopcrm.accounts.api import router as accounts_router
from loopcrm.accounts.auth import ActiveSessionAuth, TokenAuth
from loopcrm.analytics.api import router as analytics_router
from loopcrm.commerce.api import router as commerce_router
from loopcrm.core.api import PROBLEM_CONTENT_TYPE, domain_error_response, problem_response
from loopcrm.core.errors import DomainError
from loopcrm.customers.api import router as customers_router
from loopcrm.feedback.api import router as feedback_router
from loopcrm.imports.api import router as imports_router
from loopcrm.improvement.api import router as improvement_router
from loopcrm.interactions.api import router as interactions_router
from loopcrm.loyalty.api import router as loyalty_router
from loopcrm.overview.api import router as overview_router
from loopcrm.overview.retention_api import router as retention_router
from loopcrm.service.api import router as service_router
from loopcrm.value.api import router as value_router


class LoopCrmApi(NinjaAPI):
    """The API, whose schema says what it sends: errors come as application/problem+json."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status)[0] in "45" and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema


api = LoopCrmApi(
    title="LoopCRM API",
    version="1",
    description=(
        "Customers, orders, interactions and the customer 360 view. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `loopcrm token create`) or a browser session. "
        "Errors are RFC 9457 problem details; lists use cursor pagination (`cursor`, `limit` ≤ 200)."
    ),
    auth=[TokenAuth(), ActiveSessionAuth()],
    urls_namespace="api",
)
api.add_router("/v1/", accounts_router, tags=["directory"])
api.add_router("/v1/customers", customers_router, tags=["customers"])
api.add_router("/v1/", commerce_router, tags=["commerce"])
api.add_router("/v1/interactions", interactions_router, tags=["interactions"])
api.add_router("/v1/customers", overview_router, tags=["customers"])
api.add_router("/v1/retention", retention_router, tags=["privacy"])
api.add_router("/v1/", service_router, tags=["service"])
api.add_router("/v1/", feedback_router, tags=["feedback"])
api.add_router("/v1/", value_router, tags=["value"])
api.add_router("/v1/", loyalty_router, tags=["loyalty"])
api.add_router("/v1/", analytics_router, tags=["analytics"])
api.add_router("/v1/", improvement_router, tags=["improvement"])
api.add_router("/v1/", imports_router, tags=["import and export"])


@api.exception_handler(DomainError)
def on_domain_error(request, error: DomainError):
    return domain_error_response(api, request, error)


@api.exception_handler(ValidationError)
def on_validation_error(request, error: ValidationError):
    errors = []
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ())]
        # ninja prefixes the parameter source ("body", "query", "path") and the payload name.
        if location and location[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
            location = location[1:]
        if location and location[0] in {"payload", "filters"}:
            location = location[1:]
        errors.append({"field": ".".join(location), "message": item.get("msg", ""), "type": item.get("type", "")})
    detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors) or "Invalid input."
    return problem_response(api, request, status=422, title="Invalid input", detail=detail, errors=errors)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, error):
    return problem_response(
        api, request, status=401, title="Not authenticated",
        detail="Send a valid API token as 'Authorization: Bearer <token>', or sign in.",
        headers={"WWW-Authenticate": 'Bearer realm="loopcrm"'},
    )


@api.exception_handler(Http404)
def on_not_found(request, error):
    return problem_response(api, request, status=404, title="Not found", detail=str(error) or "No such record.")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, error):
    return problem_response(api, request, status=413, title="Request too large",
                            detail="The request body is over the documented limit of 2 MiB.")


@api.exception_handler(HttpError)
def on_http_error(request, error: HttpError):
    return problem_response(api, request, status=error.status_code, title="Request failed", detail=str(error))


@api.exception_handler(OperationalError)
def on_database_busy(request, error: OperationalError):
    if "locked" not in str(error).lower():
        raise error
    return problem_response(api, request, status=503, title="Service busy",
                            detail="The database is busy; retry shortly.", headers={"Retry-After": "1"})


@api.get("/v1/version", auth=None, tags=["meta"], summary="Version of this LoopCRM server")
def version(request):
    return {"version": __version__}
