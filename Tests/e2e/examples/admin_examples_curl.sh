# Example: List models
curl http://localhost:8086/api/v1/models \
  -H "Authorization: Bearer $TOKEN"

# Example: Generate an API key
curl -X POST http://localhost:8086/api/v1/keys/generate \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{"key_alias": "my-service", "max_budget": 100, "duration": "90d"}'
