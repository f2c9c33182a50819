// A render error shows what broke and a way back, never a blank window.
import { Component, type ReactNode } from "react";

type State = { error: Error | null };

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="flex h-full flex-col items-center justify-center gap-3 p-8 text-center" data-testid="crash">
        <p className="font-semibold">The window hit an error it could not recover from.</p>
        <pre className="max-w-2xl whitespace-pre-wrap text-xs text-rose-600">{this.state.error.message}</pre>
        <p className="text-xs text-zinc-500">Your history and saved requests are safe.</p>
        <button onClick={() => window.location.reload()} className="rounded-md bg-indigo-600 px-3 py-1.5 text-white">
          Reload the window
        </button>
      </div>
    );
  }
}
