// The Vulkan backend (issue #7): the device, pipelines (+ the pipeline cache file), the memory
// plan (one device allocation for activations and scratch, one for weights, one host-visible
// staging buffer for inputs and outputs) and one command buffer recorded at prepare and submitted
// per run. The ops are in vk_ops_*.cpp (vk_op.h is their contract).
#include <vulkan/vulkan.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "engine/backend.h"
#include "engine/backends/vulkan/vk_op.h"
#include "engine/backends/vulkan/vk_shaders.h"
#include "engine/backends/vulkan/vk_util.h"
#include "engine/memory_plan.h"

namespace pocket {
namespace vk {
namespace {

constexpr uint32_t kPushBytes = 128;

const char* result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult error";
  }
}

Status vk_fail(const std::string& what, VkResult r) {
  const StatusCode code = r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY
                              ? StatusCode::kOutOfMemory
                              : StatusCode::kInternal;
  return Status(code, "vulkan: " + what + " failed: " + result_name(r) + " (" + std::to_string(static_cast<int>(r)) + ")");
}

#define POCKET_VK(call, what)                      \
  do {                                             \
    VkResult _r = (call);                          \
    if (_r != VK_SUCCESS) return vk_fail(what, _r); \
  } while (0)

std::string version_str(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v));
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU driver";
    default: return "other device";
  }
}

int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_OTHER: return 3;
    default: return 4;  // CPU
  }
}

struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  VkDeviceSize allocated = 0;
  void* mapped = nullptr;
};

// The device and what every executable on it shares: pipelines (by shader variant and binding
// count) and the VkPipelineCache. Guarded by mu (pipeline creation, the cache, queue submission).
class Device {
 public:
  ~Device() {
    if (device_ != VK_NULL_HANDLE) {
      vkDeviceWaitIdle(device_);
      for (auto& [k, p] : pipelines_) {
        vkDestroyPipeline(device_, p.pipeline, nullptr);
        vkDestroyShaderModule(device_, p.module, nullptr);
      }
      for (auto& [n, l] : layouts_) vkDestroyPipelineLayout(device_, l, nullptr);
      for (auto& [n, l] : set_layouts_) vkDestroyDescriptorSetLayout(device_, l, nullptr);
      if (cache_ != VK_NULL_HANDLE) vkDestroyPipelineCache(device_, cache_, nullptr);
      vkDestroyDevice(device_, nullptr);
    }
    if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
  }

  static Result<std::shared_ptr<Device>> create(bool allow_cpu_device);

  VkDevice device() const { return device_; }
  const DeviceCaps& caps() const { return caps_; }
  const std::string& description() const { return description_; }
  bool is_cpu() const { return cpu_; }
  VkDeviceSize storage_alignment() const { return alignment_; }

  Result<uint32_t> memory_type(uint32_t bits, VkMemoryPropertyFlags need, VkMemoryPropertyFlags prefer) const {
    int best = -1;
    for (uint32_t i = 0; i < mem_.memoryTypeCount; ++i) {
      if (!(bits & (1u << i))) continue;
      const VkMemoryPropertyFlags f = mem_.memoryTypes[i].propertyFlags;
      if ((f & need) != need) continue;
      if ((f & prefer) == prefer) return i;
      if (best < 0) best = static_cast<int>(i);
    }
    if (best < 0) return Status(StatusCode::kUnsupported, "vulkan: no memory type with the properties needed");
    return static_cast<uint32_t>(best);
  }

  Status create_buffer(VkDeviceSize size, VkBufferUsageFlags usage, bool host, Buffer* out, size_t* allocated_sum) {
    out->size = std::max<VkDeviceSize>(size, 16);
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = out->size;
    bi.usage = usage;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    POCKET_VK(vkCreateBuffer(device_, &bi, nullptr, &out->buffer), "vkCreateBuffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device_, out->buffer, &req);
    auto type = host ? memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                   VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
                     : memory_type(req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!type.ok()) return type.status();
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = type.value();
    POCKET_VK(vkAllocateMemory(device_, &ai, nullptr, &out->memory),
              "vkAllocateMemory of " + std::to_string(req.size) + " bytes");
    out->allocated = req.size;
    if (allocated_sum) *allocated_sum += req.size;
    POCKET_VK(vkBindBufferMemory(device_, out->buffer, out->memory, 0), "vkBindBufferMemory");
    if (host) POCKET_VK(vkMapMemory(device_, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped), "vkMapMemory");
    return Status::Ok();
  }

  void destroy_buffer(Buffer* b) {
    if (b->buffer != VK_NULL_HANDLE) vkDestroyBuffer(device_, b->buffer, nullptr);
    if (b->memory != VK_NULL_HANDLE) vkFreeMemory(device_, b->memory, nullptr);
    *b = Buffer{};
  }

  struct Pipeline {
    VkShaderModule module = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  };

  // The pipeline of shader variant `name` ("binary_f32") with `bindings` storage buffers.
  Result<Pipeline> pipeline(const std::string& name, uint32_t bindings) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = name + "/" + std::to_string(bindings);
    auto it = pipelines_.find(key);
    if (it != pipelines_.end()) return it->second;
    size_t words = 0;
    const uint32_t* code = vk_shader(name.c_str(), &words);
    if (!code) return Status(StatusCode::kInternal, "vulkan: no embedded shader '" + name + "'");
    Pipeline p;
    auto sl = set_layouts_.find(bindings);
    if (sl == set_layouts_.end()) {
      std::vector<VkDescriptorSetLayoutBinding> b(bindings);
      for (uint32_t i = 0; i < bindings; ++i) {
        b[i] = {};
        b[i].binding = i;
        b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        b[i].descriptorCount = 1;
        b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
      }
      VkDescriptorSetLayoutCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
      ci.bindingCount = bindings;
      ci.pBindings = b.data();
      VkDescriptorSetLayout l;
      POCKET_VK(vkCreateDescriptorSetLayout(device_, &ci, nullptr, &l), "vkCreateDescriptorSetLayout");
      sl = set_layouts_.emplace(bindings, l).first;
      VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
      VkPipelineLayoutCreateInfo pi{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
      pi.setLayoutCount = 1;
      pi.pSetLayouts = &l;
      pi.pushConstantRangeCount = 1;
      pi.pPushConstantRanges = &range;
      VkPipelineLayout pl;
      POCKET_VK(vkCreatePipelineLayout(device_, &pi, nullptr, &pl), "vkCreatePipelineLayout");
      layouts_.emplace(bindings, pl);
    }
    p.set_layout = sl->second;
    p.layout = layouts_.at(bindings);
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = words * 4;
    mi.pCode = code;
    POCKET_VK(vkCreateShaderModule(device_, &mi, nullptr, &p.module), "vkCreateShaderModule(" + name + ")");
    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = p.module;
    ci.stage.pName = "main";
    ci.layout = p.layout;
    VkResult r = vkCreateComputePipelines(device_, cache_, 1, &ci, nullptr, &p.pipeline);
    if (r != VK_SUCCESS) {
      vkDestroyShaderModule(device_, p.module, nullptr);
      return vk_fail("vkCreateComputePipelines(" + name + ")", r);
    }
    pipelines_.emplace(key, p);
    return p;
  }

  // Merges a pipeline cache file into the device's cache. Never fatal: a missing, short, foreign
  // (other vendor/device/driver) or corrupt file is ignored; *note says what happened.
  void load_cache_file(const std::string& path, std::string* note) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      *note = "no pipeline cache file yet";
      return;
    }
    std::vector<char> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // The header (Vulkan spec, VkPipelineCacheHeaderVersionOne): length, version, vendor, device, UUID.
    uint32_t hdr[4];
    if (data.size() < 32) {
      *note = "pipeline cache file ignored: too short";
      return;
    }
    std::memcpy(hdr, data.data(), 16);
    if (hdr[0] < 32 || hdr[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || hdr[2] != props_.vendorID ||
        hdr[3] != props_.deviceID || std::memcmp(data.data() + 16, props_.pipelineCacheUUID, VK_UUID_SIZE) != 0) {
      *note = "pipeline cache file ignored: not from this device and driver";
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    ci.initialDataSize = data.size();
    ci.pInitialData = data.data();
    VkPipelineCache tmp;
    if (vkCreatePipelineCache(device_, &ci, nullptr, &tmp) != VK_SUCCESS) {
      *note = "pipeline cache file ignored: the driver refused it";
      return;
    }
    if (vkMergePipelineCaches(device_, cache_, 1, &tmp) == VK_SUCCESS) {
      *note = "pipeline cache file loaded (" + std::to_string(data.size()) + " bytes)";
    } else {
      *note = "pipeline cache file ignored: merge failed";
    }
    vkDestroyPipelineCache(device_, tmp, nullptr);
  }

  // Writes the device's cache to path (a temporary file, then rename). Failure is not fatal.
  void save_cache_file(const std::string& path, std::string* note) {
    std::vector<char> data;
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t size = 0;
      if (vkGetPipelineCacheData(device_, cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
      data.resize(size);
      if (vkGetPipelineCacheData(device_, cache_, &size, data.data()) != VK_SUCCESS) return;
      data.resize(size);
    }
    const std::string tmp = path + ".tmp" + std::to_string(static_cast<long>(getpid()));
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!f) {
        *note += "; pipeline cache file not written: cannot create " + tmp;
        return;
      }
      f.write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!f) {
        *note += "; pipeline cache file not written";
        std::remove(tmp.c_str());
        return;
      }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      std::remove(tmp.c_str());
      *note += "; pipeline cache file not written: rename failed";
    }
  }

  Status submit(VkCommandBuffer cb, VkFence fence) {
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    {
      std::lock_guard<std::mutex> lock(mu_);
      POCKET_VK(vkQueueSubmit(queue_, 1, &si, fence), "vkQueueSubmit");
    }
    POCKET_VK(vkWaitForFences(device_, 1, &fence, VK_TRUE, std::numeric_limits<uint64_t>::max()), "vkWaitForFences");
    POCKET_VK(vkResetFences(device_, 1, &fence), "vkResetFences");
    return Status::Ok();
  }

  uint32_t queue_family() const { return family_; }

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice phys_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t family_ = 0;
  VkPhysicalDeviceProperties props_{};
  VkPhysicalDeviceMemoryProperties mem_{};
  VkDeviceSize alignment_ = 64;
  DeviceCaps caps_;
  std::string description_;
  bool cpu_ = false;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::mutex mu_;
  std::map<uint32_t, VkDescriptorSetLayout> set_layouts_;
  std::map<uint32_t, VkPipelineLayout> layouts_;
  std::map<std::string, Pipeline> pipelines_;
};

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

Result<std::shared_ptr<Device>> Device::create(bool allow_cpu_device) {
  auto d = std::shared_ptr<Device>(new Device());
  uint32_t loader = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion(&loader) != VK_SUCCESS) loader = VK_API_VERSION_1_0;
  if (loader < VK_API_VERSION_1_1)
    return Status(StatusCode::kUnsupported, "vulkan: the Vulkan loader is version " + version_str(loader) + ", 1.1 is needed");
  const uint32_t api = std::min<uint32_t>(loader, VK_API_VERSION_1_2);
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "pocket";
  app.pEngineName = "pocket";
  app.apiVersion = api;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  VkResult r = vkCreateInstance(&ici, nullptr, &d->instance_);
  if (r != VK_SUCCESS) {
    d->instance_ = VK_NULL_HANDLE;
    std::string why = r == VK_ERROR_INCOMPATIBLE_DRIVER ? " (no usable Vulkan driver (ICD) found" : " (";
    if (const char* icd = getenv("VK_ICD_FILENAMES")) why += std::string(r == VK_ERROR_INCOMPATIBLE_DRIVER ? "; " : "") + "VK_ICD_FILENAMES=" + icd;
    why += ")";
    if (why == " ()") why.clear();
    return Status(StatusCode::kUnsupported, std::string("vulkan: vkCreateInstance failed: ") + result_name(r) + why);
  }
  uint32_t count = 0;
  vkEnumeratePhysicalDevices(d->instance_, &count, nullptr);
  std::vector<VkPhysicalDevice> devs(count);
  if (count) vkEnumeratePhysicalDevices(d->instance_, &count, devs.data());
  if (count == 0) return Status(StatusCode::kUnsupported, "vulkan: no Vulkan device found");
  int best = -1, best_rank = 1 << 30;
  uint32_t best_family = 0;
  std::string skipped;
  for (uint32_t i = 0; i < count; ++i) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(devs[i], &p);
    if (p.apiVersion < VK_API_VERSION_1_1) {
      skipped += std::string(skipped.empty() ? "" : "; ") + p.deviceName + ": Vulkan " + version_str(p.apiVersion) + " < 1.1";
      continue;
    }
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(devs[i], &nq, nullptr);
    std::vector<VkQueueFamilyProperties> qs(nq);
    vkGetPhysicalDeviceQueueFamilyProperties(devs[i], &nq, qs.data());
    int fam = -1;
    for (uint32_t q = 0; q < nq; ++q)
      if ((qs[q].queueFlags & VK_QUEUE_COMPUTE_BIT) && qs[q].queueCount > 0) { fam = static_cast<int>(q); break; }
    if (fam < 0) {
      skipped += std::string(skipped.empty() ? "" : "; ") + p.deviceName + ": no compute queue";
      continue;
    }
    const int rank = type_rank(p.deviceType);
    if (rank < best_rank) {
      best = static_cast<int>(i);
      best_rank = rank;
      best_family = static_cast<uint32_t>(fam);
    }
  }
  if (best < 0) return Status(StatusCode::kUnsupported, "vulkan: no device with compute (" + skipped + ")");
  d->phys_ = devs[static_cast<size_t>(best)];
  d->family_ = best_family;
  vkGetPhysicalDeviceProperties(d->phys_, &d->props_);
  vkGetPhysicalDeviceMemoryProperties(d->phys_, &d->mem_);
  const VkPhysicalDeviceProperties& p = d->props_;
  d->cpu_ = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  d->description_ = std::string(p.deviceName) + ", " + type_name(p.deviceType) + ", Vulkan " + version_str(p.apiVersion);
  if (d->cpu_ && !allow_cpu_device)
    return Status(StatusCode::kUnsupported, "vulkan: the only Vulkan device is a CPU implementation (" + d->description_ +
                                                "); it is used only when asked for (allow_cpu_device)");
  d->alignment_ = std::max<VkDeviceSize>(64, p.limits.minStorageBufferOffsetAlignment);

  // Features: 16-bit storage (fp16 mode), fp16 arithmetic, int64.
  uint32_t next = 0;
  vkEnumerateDeviceExtensionProperties(d->phys_, nullptr, &next, nullptr);
  std::vector<VkExtensionProperties> exts(next);
  vkEnumerateDeviceExtensionProperties(d->phys_, nullptr, &next, exts.data());
  const bool dev12 = p.apiVersion >= VK_API_VERSION_1_2 && api >= VK_API_VERSION_1_2;
  const bool f16_ext = !dev12 && has_extension(exts, "VK_KHR_shader_float16_int8");
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &s16;
  if (dev12 || f16_ext) s16.pNext = &f16;
  vkGetPhysicalDeviceFeatures2(d->phys_, &f2);
  VkPhysicalDeviceSubgroupProperties sub{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &sub;
  vkGetPhysicalDeviceProperties2(d->phys_, &p2);

  DeviceCaps& caps = d->caps_;
  caps.fp16_storage = s16.storageBuffer16BitAccess == VK_TRUE;
  caps.fp16_arithmetic = (dev12 || f16_ext) && f16.shaderFloat16 == VK_TRUE;
  caps.int64 = f2.features.shaderInt64 == VK_TRUE;
  caps.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) caps.max_workgroup_count[i] = p.limits.maxComputeWorkGroupCount[i];
  caps.max_push_constant_bytes = p.limits.maxPushConstantsSize;
  caps.subgroup_size = sub.subgroupSize;
  caps.max_storage_buffer_range = p.limits.maxStorageBufferRange;

  // Enable exactly what we use.
  VkPhysicalDevice16BitStorageFeatures en16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  en16.storageBuffer16BitAccess = s16.storageBuffer16BitAccess;
  VkPhysicalDeviceShaderFloat16Int8Features enf16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  enf16.shaderFloat16 = caps.fp16_arithmetic ? VK_TRUE : VK_FALSE;
  VkPhysicalDeviceFeatures2 en2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  en2.features.shaderInt64 = f2.features.shaderInt64;
  en2.pNext = &en16;
  if (caps.fp16_arithmetic) en16.pNext = &enf16;
  std::vector<const char*> enable_ext;
  if (f16_ext && caps.fp16_arithmetic) enable_ext.push_back("VK_KHR_shader_float16_int8");
  const float prio = 1.f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = d->family_;
  qi.queueCount = 1;
  qi.pQueuePriorities = &prio;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &en2;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qi;
  dci.enabledExtensionCount = static_cast<uint32_t>(enable_ext.size());
  dci.ppEnabledExtensionNames = enable_ext.data();
  r = vkCreateDevice(d->phys_, &dci, nullptr, &d->device_);
  if (r != VK_SUCCESS) {
    d->device_ = VK_NULL_HANDLE;
    return Status(StatusCode::kUnsupported, "vulkan: vkCreateDevice failed on " + d->description_ + ": " + result_name(r));
  }
  vkGetDeviceQueue(d->device_, d->family_, 0, &d->queue_);
  VkPipelineCacheCreateInfo pci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  POCKET_VK(vkCreatePipelineCache(d->device_, &pci, nullptr, &d->cache_), "vkCreatePipelineCache");
  return d;
}

size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

// ---- the prepared subgraph -------------------------------------------------------------------

struct Slot {
  const Value* value = nullptr;
  StoreType store = StoreType::kFloat;
  size_t device_bytes = 0;
  int root = -1;       // slot whose buffer this one uses (itself unless a view)
  int use = -1;        // index into the plan's uses (roots only)
  VkDeviceSize offset = 0;
};

struct Dispatch {
  Device::Pipeline pipeline;
  std::vector<Tensor> bindings;
  uint8_t push[kPushBytes] = {};
  uint32_t push_bytes = 0;
  uint32_t groups[3] = {1, 1, 1};
};

class Executable;

class PrepareCtx final : public VkPrepare {
 public:
  PrepareCtx(bool cpu_device, const NodeView& node, const DeviceCaps& caps, bool fp16, std::vector<uint8_t>* weights,
             std::vector<std::pair<size_t, size_t>>* weight_ranges, std::vector<StoreType>* weight_types,
             std::vector<size_t>* scratch, size_t align)
      : cpu_device(cpu_device), node_(node), caps_(caps), fp16_(fp16), weights_(weights), ranges_(weight_ranges), types_(weight_types),
        scratch_(scratch), align_(align) {}
  const NodeView& node() const override { return node_; }
  const DeviceCaps& caps() const override { return caps_; }
  bool fp16() const override { return fp16_; }
  const bool cpu_device;
  int add_weight_floats(const float* data, size_t count) override {
    if (fp16_) {
      const size_t off = append(count * 2);
      uint16_t* dst = reinterpret_cast<uint16_t*>(weights_->data() + off);
      for (size_t i = 0; i < count; ++i) dst[i] = float_to_half(data[i]);
    } else {
      const size_t off = append(count * 4);
      if (count) std::memcpy(weights_->data() + off, data, count * 4);
    }
    types_->push_back(StoreType::kFloat);
    return static_cast<int>(ranges_->size() - 1);
  }
  int add_weight_ints(const int32_t* data, size_t count) override {
    const size_t off = append(count * 4);
    if (count) std::memcpy(weights_->data() + off, data, count * 4);
    types_->push_back(StoreType::kInt32);
    return static_cast<int>(ranges_->size() - 1);
  }
  int add_scratch(size_t bytes) override {
    scratch_->push_back(bytes);
    return static_cast<int>(scratch_->size() - 1);
  }
  Status fail(StatusCode code, const std::string& what) const override {
    return Status(code, "vulkan: " + node_label(node_) + ": " + what);
  }

 private:
  size_t append(size_t bytes) {
    const size_t off = align_up(weights_->size(), align_);
    weights_->resize(off + bytes);
    ranges_->push_back({off, bytes});
    return off;
  }
  const NodeView& node_;
  const DeviceCaps& caps_;
  bool fp16_;
  std::vector<uint8_t>* weights_;
  std::vector<std::pair<size_t, size_t>>* ranges_;
  std::vector<StoreType>* types_;
  std::vector<size_t>* scratch_;
  size_t align_;
};

class Executable final : public BackendExecutable {
 public:
  Executable(std::shared_ptr<Device> device, bool fp16, bool fp16_arithmetic)
      : dev_(std::move(device)), fp16_(fp16), arith_(fp16 && fp16_arithmetic) {}
  ~Executable() override {
    VkDevice d = dev_->device();
    if (fence_ != VK_NULL_HANDLE) vkDestroyFence(d, fence_, nullptr);
    if (cmd_pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(d, cmd_pool_, nullptr);
    if (desc_pool_ != VK_NULL_HANDLE) vkDestroyDescriptorPool(d, desc_pool_, nullptr);
    dev_->destroy_buffer(&arena_);
    dev_->destroy_buffer(&weights_);
    dev_->destroy_buffer(&staging_);
  }

  Status prepare(const Subgraph& sg, const BackendOptions& options);

  Status upload(size_t input, const void* host, size_t bytes) override {
    if (input >= inputs_.size())
      return invalid_argument("vulkan: upload of input " + std::to_string(input) + " of " + std::to_string(inputs_.size()));
    const Slot& s = slots_[static_cast<size_t>(inputs_[input])];
    if (bytes != s.value->bytes())
      return invalid_argument("vulkan: upload of '" + std::string(s.value->name) + "': " + std::to_string(bytes) +
                              " bytes given, " + std::to_string(s.value->bytes()) + " expected");
    uint8_t* dst = static_cast<uint8_t*>(staging_.mapped) + input_staging_[input];
    const size_t n = static_cast<size_t>(s.value->elements());
    switch (s.value->dtype) {
      case DType::F32:
        if (fp16_) {
          const float* src = static_cast<const float*>(host);
          uint16_t* d = reinterpret_cast<uint16_t*>(dst);
          for (size_t i = 0; i < n; ++i) d[i] = float_to_half(src[i]);
        } else if (n) {
          std::memcpy(dst, host, n * 4);
        }
        break;
      case DType::I32:
        if (n) std::memcpy(dst, host, n * 4);
        break;
      case DType::I64: {
        const int64_t* src = static_cast<const int64_t*>(host);
        int32_t* d = reinterpret_cast<int32_t*>(dst);
        for (size_t i = 0; i < n; ++i) {
          if (src[i] < std::numeric_limits<int32_t>::min() || src[i] > std::numeric_limits<int32_t>::max())
            return invalid_argument("vulkan: input '" + std::string(s.value->name) + "' element " + std::to_string(i) +
                                    " = " + std::to_string(src[i]) +
                                    " does not fit int32 (the Vulkan backend stores I64 as int32)");
          d[i] = static_cast<int32_t>(src[i]);
        }
        break;
      }
      case DType::BOOL:
      case DType::U8: {
        const uint8_t* src = static_cast<const uint8_t*>(host);
        uint32_t* d = reinterpret_cast<uint32_t*>(dst);
        for (size_t i = 0; i < n; ++i) d[i] = s.value->dtype == DType::BOOL ? (src[i] != 0) : src[i];
        break;
      }
      default:
        return Status(StatusCode::kInternal, "vulkan: upload of an unsupported dtype");
    }
    return Status::Ok();
  }

  Status run() override { return dev_->submit(cmd_, fence_); }

  Status download(size_t output, void* host, size_t bytes) override {
    if (output >= outputs_.size())
      return invalid_argument("vulkan: download of output " + std::to_string(output) + " of " + std::to_string(outputs_.size()));
    const Slot& s = slots_[static_cast<size_t>(outputs_[output])];
    if (bytes != s.value->bytes())
      return invalid_argument("vulkan: download of '" + std::string(s.value->name) + "': " + std::to_string(bytes) +
                              " bytes given, " + std::to_string(s.value->bytes()) + " expected");
    const uint8_t* src = static_cast<const uint8_t*>(staging_.mapped) + output_staging_[output];
    const size_t n = static_cast<size_t>(s.value->elements());
    switch (s.value->dtype) {
      case DType::F32:
        if (fp16_) {
          const uint16_t* h = reinterpret_cast<const uint16_t*>(src);
          float* d = static_cast<float*>(host);
          for (size_t i = 0; i < n; ++i) d[i] = half_to_float(h[i]);
        } else if (n) {
          std::memcpy(host, src, n * 4);
        }
        break;
      case DType::I32:
        if (n) std::memcpy(host, src, n * 4);
        break;
      case DType::I64: {
        const int32_t* q = reinterpret_cast<const int32_t*>(src);
        int64_t* d = static_cast<int64_t*>(host);
        for (size_t i = 0; i < n; ++i) d[i] = q[i];
        break;
      }
      case DType::BOOL:
      case DType::U8: {
        const uint32_t* q = reinterpret_cast<const uint32_t*>(src);
        uint8_t* d = static_cast<uint8_t*>(host);
        for (size_t i = 0; i < n; ++i) d[i] = s.value->dtype == DType::BOOL ? (q[i] != 0) : static_cast<uint8_t>(q[i]);
        break;
      }
      default:
        return Status(StatusCode::kInternal, "vulkan: download of an unsupported dtype");
    }
    return Status::Ok();
  }

  DeviceMemory memory() const override { return mem_; }
  std::vector<std::string> kernel_names() const override { return kernels_; }
  std::vector<std::string> notes() const override { return notes_; }
  const std::string& cache_note() const { return cache_note_; }

  // VkRecord's view of one node.
  Tensor slot_tensor(int slot) const {
    const Slot& s = slots_[static_cast<size_t>(slot)];
    const Slot& r = slots_[static_cast<size_t>(s.root)];
    Tensor t;
    t.buffer = arena_.buffer;
    t.offset = r.offset;
    t.bytes = s.device_bytes;
    t.store = s.store;
    t.shape = s.value->shape;
    return t;
  }

  std::shared_ptr<Device> dev_;
  bool fp16_;
  bool arith_;                      // fp16 arithmetic: the _f16a variant of shaders that have one
  std::vector<char> node_arith_;    // per node: a dispatch used an _f16a variant
  std::vector<std::string> notes_;
  std::vector<Slot> slots_;
  std::unordered_map<const Value*, int> slot_of_;
  std::vector<int> inputs_, outputs_;
  std::vector<size_t> input_staging_, output_staging_;
  std::vector<std::unique_ptr<VkOp>> ops_;
  std::vector<std::string> kernels_;
  std::vector<std::pair<size_t, size_t>> weight_ranges_;
  std::vector<StoreType> weight_types_;
  std::vector<std::vector<size_t>> scratch_;          // per node: scratch bytes
  std::vector<std::vector<VkDeviceSize>> scratch_off_;  // per node: scratch offsets in the arena
  std::vector<Dispatch> dispatches_;
  Buffer arena_, weights_, staging_;
  VkDescriptorPool desc_pool_ = VK_NULL_HANDLE;
  VkCommandPool cmd_pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  DeviceMemory mem_;
  std::string cache_note_;
};

class RecordCtx final : public VkRecord {
 public:
  RecordCtx(Executable& ex, size_t node, const NodeView& view, Status* error)
      : ex_(ex), node_(node), view_(view), error_(error) {}
  Tensor input(size_t i) const override {
    if (!view_.has_input(i)) return {};
    auto it = ex_.slot_of_.find(view_.inputs[i]);
    if (it == ex_.slot_of_.end()) return {};  // a constant: the op made it a weight
    return ex_.slot_tensor(it->second);
  }
  Tensor output(size_t i) const override {
    if (i >= view_.outputs.size() || !view_.outputs[i]) return {};
    return ex_.slot_tensor(ex_.slot_of_.at(view_.outputs[i]));
  }
  Tensor weight(int id) const override {
    Tensor t;
    if (id < 0 || static_cast<size_t>(id) >= ex_.weight_ranges_.size()) return t;
    t.buffer = ex_.weights_.buffer;
    t.offset = ex_.weight_ranges_[static_cast<size_t>(id)].first;
    t.bytes = ex_.weight_ranges_[static_cast<size_t>(id)].second;
    t.store = ex_.weight_types_[static_cast<size_t>(id)];
    const size_t es = store_size(t.store, ex_.fp16_);
    t.shape = {static_cast<int64_t>(t.bytes / es)};
    return t;
  }
  Tensor scratch(int id) const override {
    Tensor t;
    if (id < 0 || static_cast<size_t>(id) >= ex_.scratch_[node_].size()) return t;
    t.buffer = ex_.arena_.buffer;
    t.offset = ex_.scratch_off_[node_][static_cast<size_t>(id)];
    t.bytes = ex_.scratch_[node_][static_cast<size_t>(id)];
    t.store = StoreType::kFloat;
    t.shape = {static_cast<int64_t>(t.bytes / store_size(StoreType::kFloat, ex_.fp16_))};
    return t;
  }
  void dispatch(const char* shader, std::initializer_list<Tensor> bindings, const void* push, uint32_t push_bytes,
                uint32_t gx, uint32_t gy, uint32_t gz) override {
    if (!error_->ok()) return;
    if (gx == 0 || gy == 0 || gz == 0) return;
    const DeviceCaps& caps = ex_.dev_->caps();
    if (gx > caps.max_workgroup_count[0] || gy > caps.max_workgroup_count[1] || gz > caps.max_workgroup_count[2]) {
      *error_ = Status(StatusCode::kUnsupported, "vulkan: " + node_label(view_) + ": shader " + shader + " needs " +
                                                     std::to_string(gx) + "x" + std::to_string(gy) + "x" + std::to_string(gz) +
                                                     " workgroups, more than the device allows");
      return;
    }
    if (push_bytes > kPushBytes) {
      *error_ = Status(StatusCode::kInternal, "vulkan: " + node_label(view_) + ": push constants over 128 bytes");
      return;
    }
    std::string name = std::string(shader) + (ex_.fp16_ ? "_f16" : "_f32");
    if (ex_.arith_ && vk_shader((name + "a").c_str(), nullptr)) {
      name += "a";
      ex_.node_arith_[node_] = 1;
    }
    auto p = ex_.dev_->pipeline(name, static_cast<uint32_t>(bindings.size()));
    if (!p.ok()) {
      *error_ = Status(p.status().code(), p.status().message() + " (" + node_label(view_) + ")");
      return;
    }
    for (const Tensor& t : bindings) {
      if (t.buffer == VK_NULL_HANDLE) {
        *error_ = Status(StatusCode::kInternal, "vulkan: " + node_label(view_) + ": shader " + shader + " bound an unset tensor");
        return;
      }
      if (t.bytes > caps.max_storage_buffer_range) {
        *error_ = Status(StatusCode::kUnsupported, "vulkan: " + node_label(view_) + ": shader " + shader + " binds " +
                                                       std::to_string(t.bytes) + " bytes, more than the device's storage buffer range (" +
                                                       std::to_string(caps.max_storage_buffer_range) + ")");
        return;
      }
    }
    Dispatch d;
    d.pipeline = p.value();
    d.bindings.assign(bindings.begin(), bindings.end());
    if (push_bytes) std::memcpy(d.push, push, push_bytes);
    d.push_bytes = static_cast<uint32_t>(align_up(push_bytes, 4));
    d.groups[0] = gx;
    d.groups[1] = gy;
    d.groups[2] = gz;
    ex_.dispatches_.push_back(std::move(d));
  }

 private:
  Executable& ex_;
  size_t node_;
  const NodeView& view_;
  Status* error_;
};

Status Executable::prepare(const Subgraph& sg, const BackendOptions& options) {
  const DeviceCaps& caps = dev_->caps();
  const size_t align = static_cast<size_t>(dev_->storage_alignment());
  const size_t n = sg.nodes.size();
  if (!options.pipeline_cache_file.empty()) dev_->load_cache_file(options.pipeline_cache_file, &cache_note_);

  // 1. ops
  std::vector<uint8_t> weight_bytes;
  scratch_.resize(n);
  scratch_off_.resize(n);
  for (size_t k = 0; k < n; ++k) {
    const NodeView& nv = sg.nodes[k];
    Support s = vk_supports(nv, caps);
    if (!s.ok) return Status(StatusCode::kUnsupported, "vulkan: " + node_label(nv) + ": " + s.reason);
    std::unique_ptr<VkOp> op = make_vk_op(nv);
    if (!op) return Status(StatusCode::kUnsupported, "vulkan: " + node_label(nv) + ": no Vulkan op");
    PrepareCtx ctx(dev_->is_cpu(), nv, caps, fp16_, &weight_bytes, &weight_ranges_, &weight_types_, &scratch_[k], align);
    POCKET_RETURN_IF_ERROR(op->prepare(ctx));
    kernels_.push_back(op->kernel_name() + (op->alias_input() >= 0 ? "" : (fp16_ ? "_f16" : "_f32")));
    ops_.push_back(std::move(op));
  }

  // 2. slots: every non-constant value the subgraph touches.
  auto add_slot = [&](const Value* v, int root) -> Result<int> {
    auto it = slot_of_.find(v);
    if (it != slot_of_.end()) return it->second;
    Slot s;
    s.value = v;
    if (!store_type_of(v->dtype, &s.store))
      return Status(StatusCode::kUnsupported, std::string("vulkan: value '") + std::string(v->name) + "' has dtype " +
                                                  dtype_name(v->dtype) + ", which the Vulkan backend does not hold");
    const int64_t e = v->elements();
    if (e < 0) return Status(StatusCode::kInvalidModel, "vulkan: value '" + std::string(v->name) + "' has shape " + shape_str(v->shape));
    s.device_bytes = static_cast<size_t>(e) * store_size(s.store, fp16_);
    if (s.device_bytes > caps.max_storage_buffer_range)
      return Status(StatusCode::kUnsupported, "vulkan: value '" + std::string(v->name) + "' (" + std::to_string(s.device_bytes) +
                                                  " bytes) exceeds the device's storage buffer range");
    const int id = static_cast<int>(slots_.size());
    s.root = root < 0 ? id : slots_[static_cast<size_t>(root)].root;
    slots_.push_back(s);
    slot_of_[v] = id;
    return id;
  };
  for (const Value* v : sg.inputs) {
    auto r = add_slot(v, -1);
    if (!r.ok()) return r.status();
    inputs_.push_back(r.value());
  }
  const int32_t last_step = static_cast<int32_t>(n) + 1;
  std::vector<BufferUse> uses;
  std::vector<int> use_slot;
  auto use_of = [&](int slot, int32_t step) {
    Slot& r = slots_[static_cast<size_t>(slots_[static_cast<size_t>(slot)].root)];
    if (r.use < 0) {
      r.use = static_cast<int>(uses.size());
      uses.push_back({r.device_bytes, step, step});
      use_slot.push_back(static_cast<int>(&r - slots_.data()));
    }
    BufferUse& u = uses[static_cast<size_t>(r.use)];
    u.first = std::min(u.first, step);
    u.last = std::max(u.last, step);
  };
  for (int s : inputs_) use_of(s, 0);
  std::vector<std::vector<int>> node_scratch_use(n);
  for (size_t k = 0; k < n; ++k) {
    const NodeView& nv = sg.nodes[k];
    const int32_t step = static_cast<int32_t>(k) + 1;
    for (size_t i = 0; i < nv.inputs.size(); ++i) {
      const Value* v = nv.inputs[i];
      if (!v || v->constant || v->known) continue;
      auto it = slot_of_.find(v);
      if (it == slot_of_.end())
        return Status(StatusCode::kInvalidArgument, "vulkan: " + node_label(nv) + " reads '" + std::string(v->name) +
                                                        "', which is neither a subgraph input nor produced before it");
      use_of(it->second, step);
    }
    const int alias = ops_[k]->alias_input();
    for (size_t o = 0; o < nv.outputs.size(); ++o) {
      const Value* v = nv.outputs[o];
      if (!v) continue;
      int root = -1;
      if (o == 0 && alias >= 0) {
        if (!nv.has_input(static_cast<size_t>(alias)) || !slot_of_.count(nv.inputs[static_cast<size_t>(alias)]))
          return Status(StatusCode::kUnsupported, "vulkan: " + node_label(nv) + ": a view of a constant input");
        root = slot_of_.at(nv.inputs[static_cast<size_t>(alias)]);
      }
      auto r = add_slot(v, root);
      if (!r.ok()) return r.status();
      use_of(r.value(), step);
    }
    for (size_t b : scratch_[k]) {
      node_scratch_use[k].push_back(static_cast<int>(uses.size()));
      uses.push_back({b, step, step});
      use_slot.push_back(-1);
    }
  }
  for (const Value* v : sg.outputs) {
    auto it = slot_of_.find(v);
    if (it == slot_of_.end())
      return Status(StatusCode::kInvalidArgument, "vulkan: subgraph output '" + std::string(v->name) + "' is not produced by the subgraph");
    outputs_.push_back(it->second);
    use_of(it->second, last_step);
  }
  MemoryPlan plan = plan_memory(uses, align);
  for (size_t u = 0; u < uses.size(); ++u)
    if (use_slot[u] >= 0) slots_[static_cast<size_t>(use_slot[u])].offset = plan.offsets[u];
  for (size_t k = 0; k < n; ++k)
    for (int u : node_scratch_use[k]) scratch_off_[k].push_back(plan.offsets[static_cast<size_t>(u)]);
  mem_.planned = plan.arena_bytes;
  mem_.lower_bound = plan.lower_bound;

  // 3. buffers: arena (padded so that every descriptor range fits), weights, staging; within the
  //    budget, checked before allocating and again with the driver's sizes.
  size_t staging_bytes = 0;
  for (int s : inputs_) {
    input_staging_.push_back(staging_bytes);
    staging_bytes = align_up(staging_bytes + slots_[static_cast<size_t>(s)].device_bytes, 64);
  }
  for (int s : outputs_) {
    output_staging_.push_back(staging_bytes);
    staging_bytes = align_up(staging_bytes + slots_[static_cast<size_t>(s)].device_bytes, 64);
  }
  const size_t arena_request = plan.arena_bytes + 256, weight_request = weight_bytes.empty() ? 0 : weight_bytes.size() + 256;
  auto over_budget = [&](size_t total, const char* when) {
    return Status(StatusCode::kOutOfMemory,
                  "vulkan: the subgraph needs " + std::to_string(total) + " bytes of device memory (activations " +
                      std::to_string(arena_request) + ", weights " + std::to_string(weight_request) + ", staging " +
                      std::to_string(staging_bytes) + ") but the device memory budget leaves " +
                      std::to_string(options.memory_budget) + " bytes (" + when + ")");
  };
  if (options.memory_budget && arena_request + weight_request + staging_bytes > options.memory_budget)
    return over_budget(arena_request + weight_request + staging_bytes, "checked before allocating");
  size_t allocated = 0;
  constexpr VkBufferUsageFlags kStorage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                          VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  POCKET_RETURN_IF_ERROR(dev_->create_buffer(arena_request, kStorage, false, &arena_, &allocated));
  mem_.weights = weight_bytes.size();
  if (!weight_bytes.empty()) {
    POCKET_RETURN_IF_ERROR(dev_->create_buffer(weight_request, kStorage, false, &weights_, &allocated));
  }
  POCKET_RETURN_IF_ERROR(dev_->create_buffer(staging_bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                             true, &staging_, &allocated));
  mem_.staging = staging_.size;
  mem_.allocated = allocated;
  if (options.memory_budget && allocated > options.memory_budget)
    return over_budget(allocated, "the driver's allocation sizes; released");

  VkDevice d = dev_->device();
  VkCommandPoolCreateInfo cpi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  cpi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;  // reset after the weight upload
  cpi.queueFamilyIndex = dev_->queue_family();
  POCKET_VK(vkCreateCommandPool(d, &cpi, nullptr, &cmd_pool_), "vkCreateCommandPool");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  POCKET_VK(vkCreateFence(d, &fi, nullptr, &fence_), "vkCreateFence");
  VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cai.commandPool = cmd_pool_;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  POCKET_VK(vkAllocateCommandBuffers(d, &cai, &cmd_), "vkAllocateCommandBuffers");

  // 4. weights: through a host-visible staging buffer of at most 16 MiB, reused chunk by chunk
  //    (a 250 MB model does not need a second 250 MB buffer), then freed.
  if (!weight_bytes.empty()) {
    constexpr size_t kChunk = size_t{16} << 20;
    const size_t chunk = std::min(weight_bytes.size(), kChunk);
    Buffer tmp;
    POCKET_RETURN_IF_ERROR(dev_->create_buffer(chunk, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, true, &tmp, nullptr));
    Status st = Status::Ok();
    for (size_t off = 0; off < weight_bytes.size() && st.ok(); off += chunk) {
      const size_t len = std::min(chunk, weight_bytes.size() - off);
      std::memcpy(tmp.mapped, weight_bytes.data() + off, len);
      VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
      VkResult r = vkBeginCommandBuffer(cmd_, &bi);
      if (r == VK_SUCCESS) {
        VkBufferCopy c{0, off, len};
        vkCmdCopyBuffer(cmd_, tmp.buffer, weights_.buffer, 1, &c);
        r = vkEndCommandBuffer(cmd_);
      }
      st = r == VK_SUCCESS ? dev_->submit(cmd_, fence_) : vk_fail("recording the weight upload", r);
      if (st.ok()) {
        r = vkResetCommandBuffer(cmd_, 0);
        if (r != VK_SUCCESS) st = vk_fail("vkResetCommandBuffer", r);
      }
    }
    dev_->destroy_buffer(&tmp);
    POCKET_RETURN_IF_ERROR(st);
  }

  // 5. ops record their dispatches.
  Status error = Status::Ok();
  node_arith_.assign(n, 0);
  for (size_t k = 0; k < n && error.ok(); ++k) {
    if (ops_[k]->alias_input() >= 0) continue;
    RecordCtx rc(*this, k, sg.nodes[k], &error);
    ops_[k]->record(rc);
  }
  POCKET_RETURN_IF_ERROR(error);
  for (size_t k = 0; k < n; ++k)
    if (node_arith_[k]) kernels_[k] += "a";  // "vulkan.conv2d_f16a": fp16 arithmetic

  // 6. descriptor sets, one per dispatch.
  std::vector<VkDescriptorSet> sets(dispatches_.size());
  if (!dispatches_.empty()) {
    uint32_t descriptors = 0;
    for (const Dispatch& x : dispatches_) descriptors += static_cast<uint32_t>(std::max<size_t>(x.bindings.size(), 1));
    VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptors};
    VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    dpi.maxSets = static_cast<uint32_t>(dispatches_.size());
    dpi.poolSizeCount = 1;
    dpi.pPoolSizes = &ps;
    POCKET_VK(vkCreateDescriptorPool(d, &dpi, nullptr, &desc_pool_), "vkCreateDescriptorPool");
    std::vector<VkDescriptorSetLayout> layouts;
    for (const Dispatch& x : dispatches_) layouts.push_back(x.pipeline.set_layout);
    VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    dai.descriptorPool = desc_pool_;
    dai.descriptorSetCount = static_cast<uint32_t>(layouts.size());
    dai.pSetLayouts = layouts.data();
    POCKET_VK(vkAllocateDescriptorSets(d, &dai, sets.data()), "vkAllocateDescriptorSets");
    std::vector<VkDescriptorBufferInfo> infos;
    std::vector<VkWriteDescriptorSet> writes;
    size_t total = 0;
    for (const Dispatch& x : dispatches_) total += x.bindings.size();
    infos.reserve(total);
    for (size_t i = 0; i < dispatches_.size(); ++i) {
      for (size_t b = 0; b < dispatches_[i].bindings.size(); ++b) {
        const Tensor& t = dispatches_[i].bindings[b];
        infos.push_back({t.buffer, t.offset, std::max<VkDeviceSize>(t.bytes, 4)});
        VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w.dstSet = sets[i];
        w.dstBinding = static_cast<uint32_t>(b);
        w.descriptorCount = 1;
        w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        w.pBufferInfo = &infos.back();
        writes.push_back(w);
      }
    }
    if (!writes.empty()) vkUpdateDescriptorSets(d, static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
  }

  // 7. the command buffer every run submits.
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  POCKET_VK(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
  auto barrier = [&](VkPipelineStageFlags src, VkAccessFlags src_access, VkPipelineStageFlags dst, VkAccessFlags dst_access) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src_access;
    mb.dstAccessMask = dst_access;
    vkCmdPipelineBarrier(cmd_, src, dst, 0, 1, &mb, 0, nullptr, 0, nullptr);
  };
  constexpr VkPipelineStageFlags kCT = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  constexpr VkAccessFlags kAll = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                                 VK_ACCESS_TRANSFER_WRITE_BIT;
  // The previous run's reads and writes of the arena finish before this run's uploads.
  barrier(kCT, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, kCT, kAll);
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const Slot& s = slots_[static_cast<size_t>(inputs_[i])];
    if (s.device_bytes == 0) continue;
    VkBufferCopy c{input_staging_[i], slots_[static_cast<size_t>(s.root)].offset, s.device_bytes};
    vkCmdCopyBuffer(cmd_, staging_.buffer, arena_.buffer, 1, &c);
  }
  barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
          VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  for (size_t i = 0; i < dispatches_.size(); ++i) {
    const Dispatch& x = dispatches_[i];
    if (i > 0)
      barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
              VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, x.pipeline.pipeline);
    vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, x.pipeline.layout, 0, 1, &sets[i], 0, nullptr);
    if (x.push_bytes) vkCmdPushConstants(cmd_, x.pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, x.push_bytes, x.push);
    vkCmdDispatch(cmd_, x.groups[0], x.groups[1], x.groups[2]);
  }
  barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
          VK_ACCESS_TRANSFER_READ_BIT);
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const Slot& s = slots_[static_cast<size_t>(outputs_[i])];
    if (s.device_bytes == 0) continue;
    VkBufferCopy c{slots_[static_cast<size_t>(s.root)].offset, output_staging_[i], s.device_bytes};
    vkCmdCopyBuffer(cmd_, arena_.buffer, staging_.buffer, 1, &c);
  }
  barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  POCKET_VK(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");

  if (!options.pipeline_cache_file.empty()) dev_->save_cache_file(options.pipeline_cache_file, &cache_note_);
  return Status::Ok();
}

class VulkanBackend final : public Backend {
 public:
  explicit VulkanBackend(std::shared_ptr<Device> d) : dev_(std::move(d)) {}
  const char* name() const override { return "vulkan"; }
  std::string device() const override { return dev_->description(); }
  bool is_accelerator() const override { return !dev_->is_cpu(); }
  Support supports(const NodeView& node) const override {
    for (const Value* v : node.outputs) {
      StoreType st;
      if (v && !store_type_of(v->dtype, &st)) return Support::no(std::string("dtype ") + dtype_name(v->dtype) + " of an output");
    }
    return vk_supports(node, dev_->caps());
  }
  Result<std::unique_ptr<BackendExecutable>> prepare(const Subgraph& subgraph, const BackendOptions& options) override {
    if (options.fp16 && !dev_->caps().fp16_storage)
      return Status(StatusCode::kUnsupported, "vulkan: fp16 storage asked for, but " + dev_->description() +
                                                  " has no storageBuffer16BitAccess");
    const bool arith = options.fp16 && options.fp16_arithmetic && dev_->caps().fp16_arithmetic;
    auto ex = std::make_unique<Executable>(dev_, options.fp16, arith);
    if (options.fp16_arithmetic && !options.fp16)
      ex->notes_.push_back("vulkan: fp16 arithmetic asked for without fp16 storage: fp32 storage and arithmetic");
    else if (options.fp16_arithmetic && !arith)
      ex->notes_.push_back("vulkan: fp16 arithmetic asked for, but " + dev_->description() +
                           " has no shaderFloat16: fp16 storage with fp32 arithmetic");
    POCKET_RETURN_IF_ERROR(ex->prepare(subgraph, options));
    return std::unique_ptr<BackendExecutable>(std::move(ex));
  }

 private:
  std::shared_ptr<Device> dev_;
};

}  // namespace

bool prefers_cpu_style_shaders(const VkPrepare& ctx) {
  if (const char* e = std::getenv("POCKET_VK_CPU_STYLE"); e && (*e == '0' || *e == '1')) return *e == '1';
  const auto* p = dynamic_cast<const PrepareCtx*>(&ctx);
  return p && p->cpu_device;
}

}  // namespace vk

Result<std::unique_ptr<Backend>> make_vulkan_backend(bool allow_cpu_device) {
  auto d = vk::Device::create(allow_cpu_device);
  if (!d.ok()) return d.status();
  return std::unique_ptr<Backend>(std::make_unique<vk::VulkanBackend>(std::move(d.value())));
}

}  // namespace pocket
