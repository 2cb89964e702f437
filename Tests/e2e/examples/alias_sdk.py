from openai import OpenAI

client = OpenAI(
    base_url="http://localhost:4000/v1",
    api_key="$SCUTUM_API_KEY",
)

# Use a group alias -- the gateway picks the best available model
response = client.chat.completions.create(
    model="fast",
    messages=[{"role": "user", "content": "Summarize this text..."}],
)
print(response.model, response.choices[0].message.content)
