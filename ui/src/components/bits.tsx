/** Small shared pieces: stat cards, empty states, errors, a modal dialog, a copy button, and a data-loading hook. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export function Stat(props: { label: string; value: string; hint?: string; testid?: string }) {
  return (
    <div class="stat" data-testid={props.testid}>
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.hint && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

export function Empty(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" role="status">
      <h3>{props.title}</h3>
      {props.children}
    </div>
  );
}

export function ErrorLine(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error instanceof Error ? props.error.message : String(props.error)}
    </p>
  );
}

/** A modal made of elements, not window.confirm: it can say what will happen, and tests see no browser dialog. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && props.onClose();
    window.addEventListener('keydown', onKey);
    panel.current?.querySelector<HTMLElement>('input, button.primary, button')?.focus();
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="modal-backdrop">
      <div class="modal" role="dialog" aria-modal="true" aria-label={props.title} ref={panel}>
        <h2>{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}

/**
 * Copies through the Clipboard API, which browsers offer only on https and localhost; on a plain-http address it
 * selects the text of `target` and copies that, or leaves it selected and says to press Ctrl+C.
 */
async function copyText(text: string, target: HTMLElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!target) return false;
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    return document.execCommand('copy');
  }
}

export function CopyButton(props: { text: string; target: () => HTMLElement | null }) {
  const [state, setState] = useState<'idle' | 'copied' | 'select'>('idle');
  const copy = async () => setState((await copyText(props.text, props.target())) ? 'copied' : 'select');
  return (
    <button type="button" onClick={copy}>
      {state === 'copied' ? 'Copied' : state === 'select' ? 'Selected: press Ctrl+C' : 'Copy'}
    </button>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change (and on reload()), keeping the last answer while the next one loads. With
 * `refreshMs`, loads again that often while the tab is visible, and when it comes back into view: a page left
 * open shows new traffic without a reload.
 */
export function useData<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState((previous) => ({ data: previous.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((value) => value + 1), []);
  useEffect(() => {
    if (!refreshMs) return;
    const whenVisible = () => document.visibilityState === 'visible' && reload();
    const timer = setInterval(whenVisible, refreshMs);
    document.addEventListener('visibilitychange', whenVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', whenVisible);
    };
  }, [refreshMs]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** How often pages that show live numbers load them again. */
export const REFRESH_MS = 10_000;

/** The curl line a new operator can paste to see a first request arrive. */
export function curlLine(key = 'sk-sy-…'): string {
  return `curl ${location.origin}/v1/chat/completions -H "Authorization: Bearer ${key}" -H 'content-type: application/json' -d '{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"Hello!"}]}'`;
}
