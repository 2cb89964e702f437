from openai import OpenAI

client = OpenAI(
    base_url="http://localhost:4000/v1",
    api_key="$SCUTUM_API_KEY",
)

response = client.chat.completions.create(
    model="gpt-5",
    messages=[{"role": "user", "content": "Hello"}],
)

# Check which model actually served the request
print(response.model)  # Could be "gpt-5" or a fallback like "claude-opus-4.5"
