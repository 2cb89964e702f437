from openai import OpenAI

client = OpenAI(
    base_url="http://localhost:4000/v1",
    api_key="$SCUTUM_API_KEY",
)

response = client.embeddings.create(
    model="azure-text-embedding-3-large",
    input="The quick brown fox jumps over the lazy dog",
)

vector = response.data[0].embedding
print(f"Embedding dimension: {len(vector)}")
