-- Neovim (0.7+) as the language server's client: open a Go file with `gocore-dap lsp` attached, wait for
-- the diagnostics, ask for a hover and the code lenses, and write what Neovim saw to a JSON file.
-- Run headless by tests/lsp/test_neovim.py:
--   nvim --headless --clean -u NONE -c "luafile probe.lua"
-- with GOCORE_NVIM_{SERVER,ROOT,SOURCE,PROGRAM,CORE,OUT} in the environment. 0.7 has no vim.lsp.start:
-- start_client + buf_attach_client is the API every version since 0.5 has.
local env = vim.env
local result = { diagnostics = {}, lenses = {}, messages = {} }

local function finish()
  local file = assert(io.open(env.GOCORE_NVIM_OUT, "w"))
  file:write(vim.fn.json_encode(result))
  file:close()
  vim.cmd("qa!")
end

local function run()
  vim.lsp.handlers["window/showMessage"] = function(_, params)
    table.insert(result.messages, params.message)
  end
  vim.cmd("edit " .. vim.fn.fnameescape(env.GOCORE_NVIM_SOURCE))
  local id = vim.lsp.start_client({
    name = "gocore-dap",
    cmd = { env.GOCORE_NVIM_SERVER, "lsp" },
    root_dir = env.GOCORE_NVIM_ROOT,
    init_options = { program = env.GOCORE_NVIM_PROGRAM, coreFilePath = env.GOCORE_NVIM_CORE },
  })
  result.client_started = id ~= nil
  vim.lsp.buf_attach_client(0, id)

  local function has_error()
    for _, d in ipairs(vim.diagnostic.get(0)) do
      if d.severity == vim.diagnostic.severity.ERROR then
        return true
      end
    end
    return false
  end
  result.got_crash = vim.wait(180000, has_error, 100)
  -- The goroutine diagnostics come in the same publish; give a late one a moment anyway.
  vim.wait(500, function() return false end, 100)

  local crash_line = nil
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(result.diagnostics, { lnum = d.lnum, severity = d.severity, message = d.message, source = d.source })
    if d.severity == vim.diagnostic.severity.ERROR and crash_line == nil then
      crash_line = d.lnum
    end
  end

  local uri = vim.uri_from_bufnr(0)
  if crash_line ~= nil then
    local answers = vim.lsp.buf_request_sync(0, "textDocument/hover",
      { textDocument = { uri = uri }, position = { line = crash_line, character = 2 } }, 30000)
    for _, answer in pairs(answers or {}) do
      if answer.result and answer.result.contents then
        result.hover = answer.result.contents.value
      end
    end
  end
  local lenses = vim.lsp.buf_request_sync(0, "textDocument/codeLens", { textDocument = { uri = uri } }, 30000)
  for _, answer in pairs(lenses or {}) do
    for _, lens in ipairs(answer.result or {}) do
      table.insert(result.lenses, { line = lens.range.start.line, title = lens.command and lens.command.title })
    end
  end

  vim.lsp.stop_client(id)
  result.stopped = vim.wait(30000, function() return vim.lsp.client_is_stopped(id) end, 100)
end

local ok, err = pcall(run)
if not ok then
  result.error = tostring(err)
end
finish()
