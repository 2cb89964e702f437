# Get a JWT token
TOKEN=$(curl -s http://localhost:8086/auth/login \
  -H "Content-Type: application/json" \
  -d '{"api_key": "$SCUTUM_API_KEY"}' | jq -r '.access_token')
