from conftest import hookstream_headers, stack_ai_headers


def test_both_apis_answer(client):
    assert client.get("/stack-ai/connections", headers=stack_ai_headers()).status_code == 200
    assert client.get("/hookstream/v1/connections", headers=hookstream_headers()).status_code == 200
