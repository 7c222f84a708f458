/**
 * The legacy completions stream meter: a `text_completion` stream has chat's shape (usage-only last chunk with
 * `choices: []`, `[DONE]`), only the text sits in `choices[].text`. Native and translated streams both reach it.
 */
import { ChatStreamMeter } from './chat-stream-meter.ts';

export class CompletionsStreamMeter extends ChatStreamMeter {
  protected override readonly chunkObject = 'text_completion';

  protected override textOf(chunks: readonly string[]): string {
    let text = '';
    for (const data of chunks) {
      let choices: unknown;
      try {
        choices = (JSON.parse(data) as { choices?: unknown } | null)?.choices;
      } catch {
        continue;
      }
      if (!Array.isArray(choices)) continue;
      for (const choice of choices as { text?: unknown }[]) if (typeof choice?.text === 'string') text += choice.text;
    }
    return text;
  }
}
