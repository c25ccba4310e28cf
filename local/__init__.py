"""The local stack: template.yaml run on this machine without Docker (``python -m local``).

It stands in for what AWS provides around the functions, as ``sam local`` would: API Gateway's
HTTP API with its Lambda authorizer (:mod:`local.http_api`), the Lambda Invoke API
(:mod:`local.lambda_api`), DynamoDB (:mod:`local.dynamodb`, DynamoDB Local from npm) and SSM
Parameter Store (:mod:`local.parameter_store`, moto's server). Everything comes from the template
(:mod:`local.template`, which reads as much as template.yaml uses and refuses the rest by name);
the functions run in this process (:mod:`local.functions`) in the environment the template gives
them (:mod:`local.environment`). :mod:`local.stack` assembles it all and :mod:`local.__main__`
holds the commands behind ``make dev/token/invoke/seed``.
"""
