/** A gateway with the admin API on, two mock upstreams and the dashboard built: what the dashboard's tests sign in to. */
import { buildUi } from '../../ui/build.mjs';
import { HF_KEY, hfEntry, OPENAI_KEY, openaiEntry, startGateway, type TestGateway } from './gateway.ts';
import { startMock, type MockUpstream } from './mock-upstream.ts';

export const ADMIN_TOKEN = 'dashboard-admin-token-0123456789';

export interface DashboardGateway {
  gateway: TestGateway;
  hf: MockUpstream;
  openai: MockUpstream;
  close(): Promise<void>;
}

export async function startDashboardGateway(): Promise<DashboardGateway> {
  await buildUi();
  const hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
  const openai = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
  const gateway = await startGateway({
    providers: {
      openai: openaiEntry(openai.url),
      huggingface: hfEntry(hf.url),
      local: { plugin: 'openai-compatible', base_url: hf.url, models: ['llama3*'], retries: { attempts: 0 } },
    },
    config: { admin: { token: ADMIN_TOKEN } },
  });
  return {
    gateway,
    hf,
    openai,
    async close() {
      await gateway.close();
      await hf.close();
      await openai.close();
    },
  };
}
