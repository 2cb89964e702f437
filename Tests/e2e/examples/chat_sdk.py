from openai import OpenAI

client = OpenAI(
    base_url="http://localhost:4000/v1",
    api_key="$SCUTUM_API_KEY",
)

response = client.chat.completions.create(
    model="claude-sonnet-4.5",
    messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    max_tokens=256,
    temperature=0.7,
)

print(response.choices[0].message.content)
