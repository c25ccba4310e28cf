"""Test authorizer: "Bearer good" passes, "Bearer boom" raises, "Bearer odd" answers nonsense."""


def handler(event, context):
    token = event["identitySource"][0]
    if token == "Bearer boom":
        raise RuntimeError("authorizer exploded")
    if token == "Bearer odd":
        return {"allowed": "maybe"}
    if token.startswith("Bearer good"):
        return {"isAuthorized": True, "context": {"orgId": "org_1", "scopes": "usage:read"}}
    return {"isAuthorized": False}
