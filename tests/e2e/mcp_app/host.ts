// A minimal MCP Apps host for the browser test: the official AppBridge of
// @modelcontextprotocol/ext-apps talks to the View in a sandboxed iframe over
// postMessage; tool calls from the View go to the real MCP server through
// window.hostCallTool (bound by the Python test to an MCP client of the server).
import {
  AppBridge,
  PostMessageTransport,
  type McpUiHostCapabilities,
  type McpUiHostContext,
} from "@modelcontextprotocol/ext-apps/app-bridge";

type CallToolParams = { name: string; arguments?: Record<string, unknown> };

declare global {
  interface Window {
    hostCallTool(params: CallToolParams): Promise<any>;
    host: typeof host;
  }
}

let bridge: AppBridge | null = null;
const calls: string[] = [];

async function show(
  html: string,
  toolArguments: Record<string, unknown>,
  toolResult: any,
  hostContext: McpUiHostContext,
  hostCapabilities: McpUiHostCapabilities = { serverTools: {}, logging: {} },
): Promise<void> {
  const frame = document.createElement("iframe");
  frame.sandbox.add("allow-scripts"); // no same-origin: the View cannot reach this page
  frame.title = "Happy Follower";
  document.getElementById("conversation")!.append(frame);
  const current = new AppBridge(
    null,
    { name: "happy-follower-test-host", version: "1.0.0" },
    hostCapabilities,
    { hostContext },
  );
  bridge = current;
  current.oncalltool = async (params) => {
    calls.push(params.name);
    return await window.hostCallTool(params);
  };
  current.addEventListener("sizechange", ({ height }) => {
    if (height != null) frame.style.height = `${height}px`;
  });
  const initialized = new Promise<void>((resolve) =>
    current.addEventListener("initialized", () => resolve()),
  );
  await current.connect(new PostMessageTransport(frame.contentWindow!, frame.contentWindow!));
  frame.srcdoc = html;
  await initialized;
  await current.sendToolInput({ arguments: toolArguments });
  await current.sendToolResult(toolResult);
}

function setHostContext(hostContext: McpUiHostContext): void {
  bridge!.setHostContext(hostContext);
}

async function teardown(): Promise<void> {
  await bridge!.teardownResource({});
}

const host = { show, setHostContext, teardown, calls };
window.host = host;
