// The same frontend workflow on hey-api's SDKs (`generated/hey-api/<api>`), type-checked with `tsc --strict`
// and run by nothing. hey-api reads `filters`' style from the spec: no query serializer to configure.
import { client as stackAIClient } from "./generated/hey-api/stack-ai/client.gen";
import {
  createConnection,
  createConnectionFromCallback,
  getOauthUrl,
  getPaginatedConnections,
} from "./generated/hey-api/stack-ai/sdk.gen";
import type { ConnectionCreateRequest, ValidationError } from "./generated/hey-api/stack-ai/types.gen";
import { client as hookstreamClient } from "./generated/hey-api/hookstream/client.gen";
import { createDestination, deleteSource } from "./generated/hey-api/hookstream/sdk.gen";
import type { DestinationCreate } from "./generated/hey-api/hookstream/types.gen";

stackAIClient.setConfig({ baseUrl: "http://127.0.0.1:4010/stack-ai", auth: () => "<token>" });
hookstreamClient.setConfig({ baseUrl: "http://127.0.0.1:4010/hookstream/v1", headers: { "X-API-Key": "hs_test_<key>" } });

const teamDrive: ConnectionCreateRequest = {
  name: "Team Drive",
  provider_id: "gdrive",
  connection_type_id: "gdrive",
  connection_provider_data: {},
};
const ordersService: DestinationCreate = {
  name: "Orders service",
  slug: "orders-service",
  url: "https://orders.example.com/hooks",
  auth_type: "bearer_token",
  auth_config: { token: "sk_orders_7f3e9a1c" },
};

export async function stackAIWorkflow(): Promise<number | null> {
  const created = await createConnection({ body: teamDrive });
  const name: string | undefined = created.data?.name;
  const consentUrl: string | undefined = (
    await getOauthUrl({
      body: {
        provider_id: "gdrive",
        connection_type_id: "gdrive",
        connection_provider_data: { redirect_uri: "http://localhost:3000/oauth/done", state: "xyz" },
      },
    })
  ).data;
  const code = new URL(consentUrl ?? "http://localhost/?code=none").searchParams.get("code") ?? "";
  await createConnectionFromCallback({
    query: { code },
    body: { name: "My Drive", provider_id: "gdrive", connection_type_id: "gdrive", connection_provider_data: {} },
  });
  const page = await getPaginatedConnections({ query: { limit: 10, filters: { provider_id__eq: "gdrive" } } });
  if (page.error && Array.isArray(page.error.detail)) {
    const problems: ValidationError[] = page.error.detail;
    console.error(problems.map((problem) => `${problem.msg} ${JSON.stringify(problem.ctx ?? {})}`));
  }
  console.log(name);
  return page.data?.meta.next_offset ?? null;
}

export async function hookstreamWorkflow(sourceId: string): Promise<string | undefined> {
  await createDestination({ body: ordersService });
  const deleted = await deleteSource({ path: { id: sourceId } });
  return deleted.error?.error;
}
