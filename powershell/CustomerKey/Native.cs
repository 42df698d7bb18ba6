// P/Invoke declarations for libcustomer_key, and the resolver that points them at the library the
// module found. Nothing else lives here: the module compiles this file with Add-Type.
//
// Ownership: strings go in as UTF-8 (LPUTF8Str) and stay owned by the caller. Every char* the
// library returns through an out parameter is owned by the caller and must be released exactly
// once with ck_free_string. ck_version returns a static string that must not be freed.
//
// The session is a CkSessionHandle: a SafeHandle, so ck_close runs exactly once (Dispose, or the
// finalizer when nobody disposed it), never while a ck_call on another thread still uses the
// session, and a disposed handle is refused by the marshaller instead of reaching the library.
using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Win32.SafeHandles;

namespace CustomerKey.Native
{
    /// The session ck_open returns; disposing it closes the session.
    public sealed class CkSessionHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        /// For the marshaller, which creates the handle ck_open fills in (and tests: an
        /// invalid, zero handle).
        public CkSessionHandle() : base(true)
        {
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.ck_close(handle);
            return true;
        }
    }

    /// ObjectNotFound errors are ItemNotFoundException, so `catch [ItemNotFoundException]` works as
    /// with the providers' errors. That type carries an ErrorRecord of its own, which PowerShell
    /// shows in a typed catch; this one gives back the engine's (code, category, target) instead.
    public sealed class CkItemNotFoundException : ItemNotFoundException
    {
        private ErrorRecord attached;

        public CkItemNotFoundException(string message) : base(message)
        {
        }

        public void Attach(ErrorRecord record)
        {
            attached = record;
        }

        public override ErrorRecord ErrorRecord
        {
            get { return attached ?? base.ErrorRecord; }
        }
    }

    public static class NativeMethods
    {
        public const string Library = "customer_key";

        private static IntPtr libraryHandle = IntPtr.Zero;
        private static bool resolverSet;
        private static readonly object resolverLock = new object();

        /// Makes every DllImport of this class bind to the library already loaded at `handle`
        /// (the module loads it by full path). The resolver is plain C#, not a script block,
        /// because the runtime may run it on a thread that has no PowerShell runspace. A resolver
        /// can be set once per assembly; a later call (Import-Module -Force) only swaps the handle
        /// for functions not bound yet.
        public static void UseLibrary(IntPtr handle)
        {
            lock (resolverLock)
            {
                libraryHandle = handle;
                if (resolverSet)
                {
                    return;
                }
                NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, (name, assembly, searchPath) =>
                    name == Library ? libraryHandle : IntPtr.Zero);
                resolverSet = true;
            }
        }

        [DllImport(Library, EntryPoint = "ck_open", CallingConvention = CallingConvention.Cdecl)]
        public static extern int ck_open(
            [MarshalAs(UnmanagedType.LPUTF8Str)] string optionsJson,
            out CkSessionHandle session,
            out IntPtr json);

        [DllImport(Library, EntryPoint = "ck_call", CallingConvention = CallingConvention.Cdecl)]
        public static extern int ck_call(
            CkSessionHandle session,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string operation,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string argumentsJson,
            out IntPtr json);

        [DllImport(Library, EntryPoint = "ck_describe", CallingConvention = CallingConvention.Cdecl)]
        public static extern int ck_describe(out IntPtr json);

        [DllImport(Library, EntryPoint = "ck_free_string", CallingConvention = CallingConvention.Cdecl)]
        public static extern void ck_free_string(IntPtr s);

        /// Cancels the calls in flight on the session (CallWatch calls it when their pipeline
        /// is stopped); calls made after it run as usual.
        [DllImport(Library, EntryPoint = "ck_cancel", CallingConvention = CallingConvention.Cdecl)]
        public static extern int ck_cancel(CkSessionHandle session);

        // CkSessionHandle calls this; anything else would close a session a handle still owns.
        [DllImport(Library, EntryPoint = "ck_close", CallingConvention = CallingConvention.Cdecl)]
        public static extern void ck_close(IntPtr session);

        [DllImport(Library, EntryPoint = "ck_version", CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr ck_version();

        /// Reads a UTF-8 string the library returned and frees it; IntPtr.Zero gives null.
        public static string TakeString(IntPtr s)
        {
            if (s == IntPtr.Zero)
            {
                return null;
            }
            try
            {
                return PtrToUtf8(s);
            }
            finally
            {
                ck_free_string(s);
            }
        }

        /// Reads a UTF-8 string the library owns (ck_version) without freeing it.
        public static string PtrToUtf8(IntPtr s)
        {
            if (s == IntPtr.Zero)
            {
                return null;
            }
            return Marshal.PtrToStringUTF8(s);
        }
    }

    /// Ctrl+C during a call into the engine. A script cmdlet cannot override StopProcessing, and
    /// a thread inside ck_call does not see the pipeline stop, so a call waiting on Azure held
    /// Ctrl+C and Stop() for minutes. Each call runs on the caller's thread
    /// as before and is only listed here (a lock and a list add: the module's benchmark counts
    /// microseconds per call); one shared timer looks at the listed calls' cmdlets every
    /// PollMilliseconds while any is listed, and calls ck_cancel for those whose pipeline is
    /// stopping. The call then fails in the engine, and Call throws PipelineStoppedException.
    public static class CallWatch
    {
        public const int PollMilliseconds = 100;

        private sealed class Watched
        {
            public PSCmdlet Cmdlet;
            public CkSessionHandle Session;
            public bool Cancelled;
        }

        // The lock for itself and for `armed`.
        private static readonly List<Watched> active = new List<Watched>();
        private static bool armed;
        private static readonly Timer timer = new Timer(Poll, null, Timeout.Infinite, Timeout.Infinite);

        /// ck_call for a cmdlet: cancelled in the engine when the cmdlet's pipeline stops, and
        /// then PipelineStoppedException instead of the answer (freed here). Without a cmdlet, a
        /// plain ck_call.
        public static int Call(CkSessionHandle session, PSCmdlet cmdlet, string operation, string argumentsJson, out IntPtr json)
        {
            if (cmdlet == null)
            {
                return NativeMethods.ck_call(session, operation, argumentsJson, out json);
            }
            var watched = new Watched { Cmdlet = cmdlet, Session = session };
            lock (active)
            {
                active.Add(watched);
                if (!armed)
                {
                    armed = true;
                    timer.Change(PollMilliseconds, PollMilliseconds);
                }
            }
            int status;
            try
            {
                status = NativeMethods.ck_call(session, operation, argumentsJson, out json);
            }
            finally
            {
                lock (active)
                {
                    active.Remove(watched);
                }
            }
            if (watched.Cancelled || IsStopping(cmdlet))
            {
                NativeMethods.ck_free_string(json);
                json = IntPtr.Zero;
                throw new PipelineStoppedException();
            }
            return status;
        }

        private static void Poll(object state)
        {
            List<Watched> stopping = null;
            lock (active)
            {
                if (active.Count == 0)
                {
                    armed = false;
                    timer.Change(Timeout.Infinite, Timeout.Infinite);
                    return;
                }
                foreach (Watched watched in active)
                {
                    if (!watched.Cancelled && IsStopping(watched.Cmdlet))
                    {
                        watched.Cancelled = true;
                        (stopping ??= new List<Watched>()).Add(watched);
                    }
                }
            }
            if (stopping == null)
            {
                return;
            }
            foreach (Watched watched in stopping)
            {
                try
                {
                    NativeMethods.ck_cancel(watched.Session);
                }
                catch (ObjectDisposedException)
                {
                    // Closed meanwhile (Disconnect-CkService): nothing left to cancel.
                }
            }
        }

        private static bool IsStopping(PSCmdlet cmdlet)
        {
            try
            {
                return cmdlet.Stopping;
            }
            catch (Exception)
            {
                // A cmdlet whose pipeline is gone cannot be asked: its call ends on its own.
                return false;
            }
        }
    }
}
